"""The baseline for benchmarks/load_generator_rps.py: the least a Locust user can do, one
FastHttpUser task on the same endpoint as our trading locustfile, no pacing, no trace ids."""

from locust import FastHttpUser, constant, task


class Minimal(FastHttpUser):
    wait_time = constant(0)

    @task
    def quote(self) -> None:
        self.client.get("/v1/quotes/AAPL")
