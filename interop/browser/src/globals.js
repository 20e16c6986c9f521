// Globals that Node provides and the bundled packages expect; build.js
// injects these into every module.
export { Buffer } from 'buffer/'
export const process = require('process/browser.js')
