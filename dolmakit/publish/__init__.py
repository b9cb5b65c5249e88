"""Release a mix and answer for it: a Hugging Face-ready folder, the EU AI Act training-content
summary, opt-out decisions and takedowns (docs/publish.md)."""
