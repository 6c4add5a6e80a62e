"""The bot's rich menus: definitions (menus.json), images drawn from them, and deployment to LINE."""
