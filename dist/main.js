// jobtoken's main step: the GitHub action's `main` and the Azure task's
// `execution` target. See shim.js.
'use strict';
require('./shim.js')('main');
