"""The museum's pages: server-rendered HTML on the JSON API's services (see `api.web.frame`)."""
