"""The package's own errors: each says what was wrong and what to do. The CLI prints them as one line;
any other exception is a bug and keeps its traceback."""


class VacdemoError(Exception):
    """A problem with what the user gave: a setting, a file, a data folder."""


class SettingsError(VacdemoError, ValueError):
    """A setting out of range or of the wrong kind (a config field, ε, steps, a norm, a data set name)."""


class AssetError(VacdemoError, ValueError):
    """A file beside a checkpoint (gallery, latent map) is missing or malformed."""


class TrainingDiverged(VacdemoError, FloatingPointError):
    """The loss became NaN or infinite during training."""
