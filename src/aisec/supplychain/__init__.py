"""AI supply-chain security: static model-file scanning, integrity manifests, BOMs, safe loading."""
