"""The store every stage shares: the content-addressed asset store (`assets`), atomic writes (`files`), ffmpeg and
ffprobe (`media`), poster frames (`previews`) and the series' own files as the dashboard shows them (`sources`)."""
