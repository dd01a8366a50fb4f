"""The returns desk console: a static page for the people at the receiving dock (docs/console.md)."""
