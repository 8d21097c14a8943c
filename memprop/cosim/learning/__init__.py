"""Learning: gradient estimators and train_step (estimators), the optimizer (schedule), gradcheck, Hopfield baselines."""
