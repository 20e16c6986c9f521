'use strict'
// An echo server on multiserver 3.8.2, for the Go interop tests.
//
//   node js/server.js --stacks net,ws,unix --host 127.0.0.1 --seed NAME
//        --appkey BASE64 [--allow KEY,KEY] [--unixdir DIR] [--timeout MS]
//
// Stacks: net = net+shs, ws = ws+shs, unix = unix+noauth (at most one unix
// per process, a multiserver limitation). The shs identity is the ed25519
// key pair whose seed is sha256(NAME). --allow restricts the shs authorize
// callback to the listed base64 public keys (default: everyone).
//
// The first stdout line is the address multiserver advertises for the
// device scope (ms.stringify('device')), printed once every stack listens.
// Then one JSON object per line for each event:
//   {"ev":"authorize","key":B64,"ok":bool}
//   {"ev":"connect","address":...}       a stack finished its transforms
//   {"ev":"end","address":...,"bytes":N,"end":"goodbye"|ERROR}
//                                        the peer's stream ended
//   {"ev":"error","address":...,"error":MSG}   a transform failed
// Every accepted stream is echoed back unchanged; when the peer's stream
// ends, the echo ends too (for shs: after the peer's goodbye we send ours).
// The process exits when its stdin closes.

const net = require('net')
const http = require('http')
const pull = require('pull-stream')
const MultiServer = require('multiserver')
const Net = require('multiserver/plugins/net')
const Ws = require('multiserver/plugins/ws')
const Unix = require('multiserver/plugins/unix-socket')
const Shs = require('multiserver/plugins/shs')
const Noauth = require('multiserver/plugins/noauth')
const { keysFromSeed, appKeyArg, parseArgs, oneLine } = require('./common')

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

function fail(msg) {
  process.stderr.write('server: ' + msg + '\n')
  process.exit(2)
}

// freePort asks the kernel for a free TCP port on host. multiserver's net
// plugin cannot listen on port 0: it picks a random port itself, which can
// collide; a port the kernel just handed out is much less likely to.
function freePort(host, cb) {
  const s = net.createServer()
  s.on('error', cb)
  s.listen(0, host, () => {
    const port = s.address().port
    s.close(() => cb(null, port))
  })
}

// counter passes data through, counting bytes, and reports how the stream
// ended: `true` is a clean end (for shs: the peer's goodbye arrived).
function counter(address) {
  let bytes = 0
  return function (read) {
    return function (abort, cb) {
      read(abort, function (end, data) {
        if (end) {
          emit({ ev: 'end', address, bytes, end: end === true ? 'goodbye' : oneLine(end) })
        } else bytes += data.length
        cb(end, data)
      })
    }
  }
}

function main() {
  const args = parseArgs(process.argv.slice(2))
  const stacks = (args.stacks || 'net').split(',')
  const host = args.host || '127.0.0.1'
  if (!args.seed) fail('--seed is required')
  const keys = keysFromSeed(args.seed)
  const appKey = args.appkey ? appKeyArg(args.appkey) : undefined
  const allow = args.allow ? args.allow.split(',') : null
  const timeout = args.timeout ? Number(args.timeout) : undefined

  function authorize(pub, cb) {
    const key = pub.toString('base64')
    const ok = !allow || allow.includes(key)
    emit({ ev: 'authorize', key, ok })
    cb(null, ok)
  }
  const shs = () => Shs({ keys, appKey, auth: authorize, timeout })

  let pending = stacks.length
  const plugs = []
  const ready = () => {
    if (--pending > 0) return
    start(plugs)
  }
  for (const name of stacks) {
    if (name === 'net') {
      const slot = plugs.push(null) - 1
      freePort(host, (err, port) => {
        if (err) fail('free port: ' + oneLine(err))
        plugs[slot] = [Net({ host, port, scope: 'device' }), shs()]
        ready()
      })
    } else if (name === 'ws') {
      const slot = plugs.push(null) - 1
      // An http server of our own, listening on a kernel-chosen port; the ws
      // plugin attaches to it and advertises server.address().port.
      const server = http.createServer()
      server.on('error', (err) => fail('ws listen: ' + oneLine(err)))
      server.listen(0, host, () => {
        plugs[slot] = [Ws({ host, server, scope: 'device' }), shs()]
        ready()
      })
    } else if (name === 'unix') {
      if (!args.unixdir) fail('--unixdir is required for the unix stack')
      plugs.push([Unix({ path: args.unixdir, scope: 'device' }), Noauth({ keys })])
      ready()
    } else fail('unknown stack ' + JSON.stringify(name))
  }
}

function start(plugs) {
  const ms = MultiServer(plugs)
  ms.server(
    function onConnect(stream) {
      emit({ ev: 'connect', address: stream.address })
      pull(stream.source, counter(stream.address), stream.sink)
    },
    function onError(err) {
      emit({ ev: 'error', address: err.address, error: oneLine(err) })
    },
    function onStarted(err) {
      if (err) fail('listen: ' + oneLine(err))
      process.stdout.write(ms.stringify('device') + '\n')
    }
  )
}

process.stdin.on('end', () => process.exit(0))
process.stdin.on('error', () => process.exit(0))
process.stdin.resume()
main()
