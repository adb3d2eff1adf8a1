"""Training (Algorithm 1): the loss of eq. 5, the loop, augmentation, adversarial training, evaluation."""
