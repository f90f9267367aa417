#!/bin/sh
# Prints the COMMANDS section `make man` adds to crossdock.1 with help2man's
# --include: for each command `crossdock --help` lists, its usage and options as
# `crossdock COMMAND --help` prints them (Boost.Program_options' layout: options
# indented by two, descriptions in one column), in man(7) markup.
# Usage: man/commands.sh BINARY
set -eu
bin=$1

# Roff-escapes the text of $0: backslashes, minus signs, a leading control character.
to_roff='
function esc(s) {
  gsub(/\\/, "\\e", s)
  gsub(/-/, "\\-", s)
  if (s ~ /^[.'"'"']/) s = "\\&" s  # \& (zero width): the line is text, not a request
  return s
}
function term_roff(t,    n, i, w, out) {
  n = split(t, w, " ")
  for (i = 1; i <= n; i++) {
    if (w[i] ~ /^-/) w[i] = "\\fB" esc(w[i]) "\\fR"
    else if (w[i] ~ /^(arg|[A-Z][A-Z.]*)$/) w[i] = "\\fI" esc(w[i]) "\\fR"
    else w[i] = esc(w[i])
    out = out (i > 1 ? " " : "") w[i]
  }
  return out
}
function trim(s) { sub(/^ +/, "", s); sub(/ +$/, "", s); return s }
/^Options:$/ { options = 1; next }
!options { usage[++nu] = $0; next }
{ opt[++no] = $0 }
END {
  print ".nf"
  while (nu > 0 && usage[nu] == "") nu--
  for (i = 1; i <= nu; i++) print esc(usage[i])
  print ".fi"
  # The description column: where text resumes after the padding of a term.
  col = 0
  for (i = 1; i <= no && !col; i++)
    if (opt[i] ~ /^  -/ && match(opt[i], /[^ ]  +[^ ]/)) col = RSTART + RLENGTH - 1
  for (i = 1; i <= no; i++) {
    line = opt[i]
    if (line ~ /^  -/) {
      if (term != "") print ".TP\n" term_roff(term) "\n" esc(desc)
      if (col && substr(line, col - 1, 1) == " ") {
        term = trim(substr(line, 1, col - 1)); desc = trim(substr(line, col))
      } else {
        term = trim(line); desc = ""
      }
    } else if (trim(line) != "") {
      desc = trim(desc " " trim(line))
    }
  }
  if (term != "") print ".TP\n" term_roff(term) "\n" esc(desc)
}'

echo '[COMMANDS]'
printf '%s\n' 'Each command takes the options below; \fBcrossdock\fR \fICOMMAND\fR \fB\-\-help\fR prints them too.'
"$bin" --help | sed -n 's/^  \([a-z][a-z]*\).*/\1/p' | awk '!seen[$0]++' | while read -r command; do
  help=$("$bin" "$command" --help)
  case $help in
  Usage:*) ;;
  *) continue ;;  # version: no options
  esac
  printf '.SS "crossdock %s"\n' "$command"
  printf '%s\n' "$help" | awk "$to_roff"
done
