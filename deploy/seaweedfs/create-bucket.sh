#!/bin/sh
# Creates the S3 bucket evomerge's store lives in (S3_BUCKET, default evomerge), once the
# SeaweedFS server answers; does nothing if it exists. Runs in the SeaweedFS image.
set -eu
bucket=${S3_BUCKET:-evomerge}
master=${SEAWEEDFS_MASTER:-seaweedfs:9333}
filer=${SEAWEEDFS_FILER:-seaweedfs:8888}

shell() { echo "$1" | timeout 30 weed shell -master="$master" -filer="$filer"; }

i=0
until shell s3.bucket.list | grep -qw -- "$bucket"; do
  i=$((i + 1))
  [ "$i" -le 30 ] || { echo "bucket $bucket: not created after $i tries" >&2; exit 1; }
  shell "s3.bucket.create -name $bucket" || true
  sleep 2
done
echo "bucket $bucket is ready"
