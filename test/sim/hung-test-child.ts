/**
 * A test process that takes its job and never answers, as a media stack stuck in a driver call
 * would: the agent must kill it at its deadline and say so.
 */
process.on('message', () => {
  // Takes the job; says nothing, ever.
});
setInterval(() => undefined, 60_000);
