#!/bin/sh
# SeaweedFS in one process: master, volume server, filer and the S3 gateway on :8333, with
# one S3 identity from the environment (S3_ACCESS_KEY, S3_SECRET_KEY). Data in /data.
set -eu
: "${S3_ACCESS_KEY:?S3_ACCESS_KEY is required}" "${S3_SECRET_KEY:?S3_SECRET_KEY is required}"
umask 077
cat > /tmp/s3.json <<JSON
{"identities": [{"name": "evomerge",
  "credentials": [{"accessKey": "$S3_ACCESS_KEY", "secretKey": "$S3_SECRET_KEY"}],
  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
JSON
exec weed -logtostderr=true server -dir="${SEAWEEDFS_DIR:-/data}" -ip="${SEAWEEDFS_IP:-seaweedfs}" -ip.bind="${SEAWEEDFS_BIND:-0.0.0.0}" \
  -volume.max=0 -master.volumeSizeLimitMB="${SEAWEEDFS_VOLUME_SIZE_MB:-1024}" \
  -s3 -s3.port=8333 -s3.config=/tmp/s3.json
