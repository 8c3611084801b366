// Package manifest turns the CLI's input files into the world it judges:
// it reads files and directories (never hanging on a FIFO or a device),
// splits YAML and JSON documents with their lines, admits our kinds as
// validated typed objects (every bad input an error naming its file:line)
// and serves them as a client.Reader, the World, to the same resolver and
// engine the operator uses.
package manifest
