from perks import create_app

app = create_app()
