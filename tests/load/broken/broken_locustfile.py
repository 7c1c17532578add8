"""A locustfile that cannot be imported: the load run must show the error and the file."""

import a_module_that_does_not_exist  # noqa: F401
from locust import HttpUser, task


class Never(HttpUser):
    @task
    def nothing(self) -> None:
        pass
