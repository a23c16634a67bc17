// Entry point of the main step (task.json execution).
require('./shim.js')('main');
