// Entry point of the post-job step (task.json postjobexecution).
require('./shim.js')('post');
