from aigms.cli import app

app()
