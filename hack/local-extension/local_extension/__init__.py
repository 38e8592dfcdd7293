"""The local provider extension's controller (see hack/local-extension/README.md)."""
