"""Single sign-on: OIDC login for the console and SCIM 2.0 provisioning (issue 17)."""
