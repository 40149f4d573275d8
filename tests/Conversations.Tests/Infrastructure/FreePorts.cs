using System.Net;
using System.Net.Sockets;

namespace Conversations.Tests.Infrastructure;

public static class FreePorts
{
    /// <summary>A loopback TCP port that nothing listens on at the moment of the call.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
