"""Call recordings and quality assurance (later issues)."""
