"""HTTP routes: thin; the rules are in domain/ and the use cases in flows/."""
