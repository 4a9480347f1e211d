"""Post-production: voices for every line (`voice`), the episode master (`edit`), speech recognition
(`transcribe`) and the subtitles timed by it (`subtitles`), and the AIGC labels (`labels`)."""
