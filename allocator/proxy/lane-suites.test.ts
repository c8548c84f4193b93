/**
 * The proxy's HTTP, smuggling and WebSocket suites once more, with the fast lane in front
 * of the server as the allocator runs it (`testing.ts` FAST_LANE): whatever the lane
 * serves itself must behave as the ordinary path does, and what it hands over must reach
 * the ordinary path intact.
 */
process.env.SDFLEET_TEST_FAST_LANE = '1';
await import('./proxy.test.ts');
await import('./smuggling.test.ts');
await import('./websocket.test.ts');
