"""Payment gateway adapters: one module per gateway protocol, all behind `base.Gateway`."""
