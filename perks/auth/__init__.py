"""Users, roles, sign-in, invitations and password reset."""
