"""One module per command: config in, a report object out; rendering happens at the edge."""
