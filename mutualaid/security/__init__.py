"""Login protection shared by the member site and admin: lockout, the admin second factor, client address."""
