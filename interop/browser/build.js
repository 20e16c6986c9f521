'use strict'
// Bundles src/page.js and its npm dependencies (multiserver 3.8.2 ws + shs,
// chloride's browser build: tweetnacl, then libsodium's wasm) into
// dist/ms-browser.js, and copies src/index.html beside it.
//
// multiserver's plugins require Node's built-in modules; the browser needs
// only url (the npm package), buffer, events, process and a little of os
// (src/os.js). The rest (http,
// fs, net, os, ...) are used by the server and address-advertising paths
// only, which a browser client never runs: they become empty modules.

const esbuild = require('esbuild')
const fs = require('fs')
const path = require('path')

const empty = ['fs', 'http', 'https', 'net', 'dgram', 'tls', 'dns', 'child_process', 'crypto', 'path', 'stream', 'util', 'zlib']
const shims = { url: 'url/', buffer: 'buffer/', events: 'events/', process: 'process/browser.js', os: './src/os.js' }

const nodeBuiltins = {
  name: 'node-builtins',
  setup(build) {
    const filter = new RegExp('^(node:)?(' + empty.concat(Object.keys(shims)).join('|') + ')$')
    build.onResolve({ filter }, (args) => {
      const name = args.path.replace(/^node:/, '')
      if (shims[name]) return { path: require.resolve(shims[name]) }
      return { path: name, namespace: 'empty' }
    })
    build.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'module.exports = {}', loader: 'js' }))
  },
}

const out = path.join(__dirname, 'dist')
fs.mkdirSync(out, { recursive: true })
esbuild
  .build({
    entryPoints: [path.join(__dirname, 'src', 'page.js')],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2020',
    outfile: path.join(out, 'ms-browser.js'),
    define: { global: 'globalThis' },
    inject: [path.join(__dirname, 'src', 'globals.js')],
    plugins: [nodeBuiltins],
    logLevel: 'warning',
  })
  .then(() => {
    fs.copyFileSync(path.join(__dirname, 'src', 'index.html'), path.join(out, 'index.html'))
    const size = fs.statSync(path.join(out, 'ms-browser.js')).size
    console.log('built dist/index.html and dist/ms-browser.js (' + size + ' bytes)')
  })
  .catch(() => process.exit(1))
