"""Reports: pure renderers from records to HTML, JSON, Markdown and SARIF."""
