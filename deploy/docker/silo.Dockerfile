# syntax=docker/dockerfile:1
# The Conversations silo image: an Orleans silo (grains, storage, the model providers); serves the HTTP API too unless Conversations__Api__Enabled=false.
# Build from the repository root:  docker build -f deploy/docker/silo.Dockerfile -t conversations-silo .
# Not built on the machines this repository is developed on (no container engine there): docs/operations.md, "Containers and Kubernetes".

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish silo/Conversations.Silo -c Release -r linux-x64 --self-contained false -o /app

# Chiseled: no shell, no package manager, non-root by default. "-extra" adds ICU and time zones (culture-aware text).
FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled-extra AS runtime
WORKDIR /app
COPY --from=build /app .
USER $APP_UID
# HTTP (API, /health, /alive, /metrics) on 8080 (ASPNETCORE_HTTP_PORTS, set by the base image); Orleans silo-to-silo 11111 and client gateway 30000
EXPOSE 8080 11111 30000
# Runtime settings for latency: docs/operations.md, "Latency".
ENV DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 DOTNET_GCgen0size=0x4000000
# The call audit journal (decision 0045) in a directory the app user can write (/app is not); mount a volume there to keep it past the container.
ENV Conversations__Audit__JournalPath=/tmp/conversations/audit-journal
ENTRYPOINT ["dotnet", "Conversations.Silo.dll"]
