/**
 * Runs once before all tests: asks whether a Docker engine answers, so suites can decide
 * synchronously (at collection time) whether to run or to be reported as skipped.
 */
export default async function globalSetup(): Promise<void> {
  if (
    process.env.TEST_DOCKER_UNAVAILABLE !== undefined ||
    process.env.TEST_DOCKER_AVAILABLE !== undefined
  )
    return;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    process.env.TEST_DOCKER_AVAILABLE = '1';
  } catch (error) {
    process.env.TEST_DOCKER_UNAVAILABLE = error instanceof Error ? error.message : String(error);
  }
}
