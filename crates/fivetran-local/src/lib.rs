//! `fivetran-local`: a local Fivetran that runs connector binaries through the Lambda Runtime API (in progress).
