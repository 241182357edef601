"""The gateway's policy pack: security rules enforced on every `pulumi preview` and `up`."""
