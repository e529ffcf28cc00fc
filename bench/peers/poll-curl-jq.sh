#!/bin/sh
# B1 peer (b): polling deployments the way a user would from a shell, one curl and one jq per
# deployment and cycle. Prints "name<TAB>status<TAB>error messages" per poll.
# Usage: poll-curl-jq.sh URL PROJECT KEY_FILE NAMES_FILE CYCLES [CA_FILE]
set -u
url=$1 project=$2 key_file=$3 names_file=$4 cycles=$5 ca=${6:-}
set --
[ -n "$ca" ] && set -- --cacert "$ca"
key=$(cat "$key_file")
names=$(cat "$names_file")
cycle=0
while [ "$cycle" -lt "$cycles" ]; do
	for name in $names; do
		curl -sS "$@" -H "Authorization: APIKey $key" "$url/cloud/v3/inference/$project/deployments/$name" |
			jq -r '[.name, .status, ([.containers[]?.error_message // empty] | join("; "))] | @tsv'
	done
	cycle=$((cycle + 1))
done
