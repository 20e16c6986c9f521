// The part of Node's os module that multiserver-scopes calls when it is
// loaded. A page has no network interfaces to advertise.
module.exports = {
  networkInterfaces: () => ({}),
  tmpdir: () => '/tmp',
}
