'use strict'
// An echo client on multiserver 3.8.2, for the Go interop tests.
//
//   node js/client.js ADDRESS NBYTES --seed NAME --appkey BASE64
//        [--deadline MS] [--timeout MS]
//
// It dials ADDRESS as is with a multiserver that knows net+shs, ws+shs and
// unix+noauth, writes NBYTES of the test pattern (byte i = i % 251), reads
// the echo and checks it byte for byte. Only when the whole echo is back does
// it end its side (for shs: sends the goodbye), then it waits for the
// server's end.
//
// Success: exit 0 and one stdout line
//   ok bytes=N address=ADDRESS-AS-SEEN close=goodbye echo_ms=T
// where T is the time from the end of the handshake to the last echoed byte.
// Failure: one stderr line "error: ..." and exit code
//   1  dial or handshake failed (no data moved)
//   2  bad arguments
//   3  the echo was complete and exact, but the stream did not end with
//      the peer's goodbye (close=... says how it ended)
//   4  the echo differed, was short or too long, or the stream broke
//   5  the deadline passed

const os = require('os')
const pull = require('pull-stream')
const MultiServer = require('multiserver')
const Net = require('multiserver/plugins/net')
const Ws = require('multiserver/plugins/ws')
const Unix = require('multiserver/plugins/unix-socket')
const Shs = require('multiserver/plugins/shs')
const Noauth = require('multiserver/plugins/noauth')
const { keysFromSeed, appKeyArg, pattern, parseArgs, oneLine } = require('./common')

const CHUNK = 65536

function exit(code, line) {
  if (code === 0) process.stdout.write(line + '\n')
  else process.stderr.write('error: ' + line + '\n')
  process.exit(code)
}

function main() {
  let args
  try {
    args = parseArgs(process.argv.slice(2))
  } catch (err) {
    exit(2, oneLine(err))
  }
  const [address, nArg] = args._
  const n = Number(nArg)
  if (!address || !Number.isInteger(n) || n < 0) exit(2, 'usage: client.js ADDRESS NBYTES --seed NAME [--appkey B64]')
  if (!args.seed) exit(2, '--seed is required')
  const keys = keysFromSeed(args.seed)
  const appKey = args.appkey ? appKeyArg(args.appkey) : undefined
  const timeout = args.timeout ? Number(args.timeout) : undefined
  const deadline = args.deadline ? Number(args.deadline) : 60000
  setTimeout(() => exit(5, 'deadline of ' + deadline + ' ms passed'), deadline).unref()

  const shs = () => Shs({ keys, appKey, timeout, auth: (pub, cb) => cb(null, false) })
  const ms = MultiServer([
    [Net({}), shs()],
    [Ws({}), shs()],
    // The path is only used to name the client's own end (a JS quirk); the
    // dialled socket comes from the address.
    [Unix({ path: os.tmpdir() }), Noauth({ keys })],
  ])

  // The whole payload is made before dialling, so that echo_ms measures
  // the transfer only.
  const payload = pattern(0, n)

  try {
    ms.client(address, onConnect)
  } catch (err) {
    exit(1, 'client threw: ' + oneLine(err))
  }

  function onConnect(err, stream) {
    if (err) exit(1, oneLine(err))

    const t0 = process.hrtime.bigint()
    let echoMs = 0
    let sent = 0
    let received = 0
    let endWaiting = null
    function source(abort, cb) {
      if (abort) return cb(abort)
      if (sent < n) {
        const k = Math.min(CHUNK, n - sent)
        const b = payload.subarray(sent, sent + k)
        sent += k
        return cb(null, b)
      }
      // Everything is written; end our side only once the echo is back, as
      // over ws ending the sink closes the whole socket.
      if (received >= n) return cb(true)
      endWaiting = cb
    }
    function sink(read) {
      read(null, function next(end, data) {
        if (end) {
          if (received !== n) exit(4, 'stream ended after ' + received + ' of ' + n + ' bytes: ' + (end === true ? 'goodbye' : oneLine(end)))
          if (end !== true) exit(3, 'echo of ' + n + ' bytes was exact but the stream ended with: ' + oneLine(end))
          exit(0, 'ok bytes=' + n + ' address=' + stream.address + ' close=goodbye echo_ms=' + echoMs.toFixed(3))
        }
        if (received + data.length > n) exit(4, 'received more than the ' + n + ' bytes sent')
        const want = payload.subarray(received, received + data.length)
        if (!want.equals(data)) {
          let i = 0
          while (data[i] === want[i]) i++
          exit(4, 'echo differs at byte ' + (received + i))
        }
        received += data.length
        if (received === n) echoMs = Number(process.hrtime.bigint() - t0) / 1e6
        if (received === n && endWaiting) {
          const cb = endWaiting
          endWaiting = null
          cb(true)
        }
        read(null, next)
      })
    }
    pull(source, stream.sink)
    pull(stream.source, sink)
  }
}

main()
