from followup import create_app

app = create_app()
