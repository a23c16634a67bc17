// jobtoken's post step: the GitHub action's `post` and the Azure task's
// `postjobexecution` target. See shim.js.
'use strict';
require('./shim.js')('post');
