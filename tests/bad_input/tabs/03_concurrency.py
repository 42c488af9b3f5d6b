"""Indented with tabs, consistently."""
import asyncio


async def run_sequentially(worker, jobs):
	answers = []
	while len(answers) < len(jobs):
		name, delay = jobs[len(answers)]
		answers.append(await worker(name, delay))
	return answers


async def run_concurrently(worker, jobs):
	async with asyncio.TaskGroup() as group:
		tasks = [group.create_task(worker(name, delay)) for name, delay in jobs]
	return [task.result() for task in tasks]
