"""Release a mix: a folder ready to upload as a Hugging Face dataset (docs/publish.md)."""
