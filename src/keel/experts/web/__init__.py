"""The review web app (`keel review serve`, the `[web]` extra): see `keel.experts.web.app`."""
