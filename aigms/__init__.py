"""aigms: a production pipeline for AI-generated series. Entry points live here; the stages live in
`aigms.production`, the flows in `aigms.flows`, the files a person edits in `aigms.schemas`."""

__version__ = "0.1.0"
