#!/usr/bin/env bash
# torch.compile's CPU backend compiles C++: the bench's compile levers and their test need g++.
exec "$BASH" "${BASH_SOURCE[0]%/*}/ensure-tool.sh" "${VACDEMO_CXX:-/usr/bin/g++}" g++ VACDEMO_CXX "torch.compile's levers (bench, tests/test_levers.py)"
