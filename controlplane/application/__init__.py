"""The application layer: the use cases the doors (CLI, HTTP API, web UI) call.

A door parses its input, calls one use case here, and renders what comes back. Use cases take
a `Workspace` (store, reports, locks) and a `Platform` (built by
`controlplane.platform.open_platform`), report progress as `Event`s on one `EventSink`, and
return the id of the record they wrote.
"""
