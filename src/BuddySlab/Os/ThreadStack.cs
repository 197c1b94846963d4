using System.Runtime.InteropServices;

namespace BuddySlab.Os;

/// <summary>
/// The address range of the calling thread's stack, from the operating system. A live thread's stack range belongs
/// to it alone, so "this address is inside the range" proves which thread is running without a thread-static read;
/// a thread's heap handle checks every call that way. Where the range cannot be had, the answer is empty and the
/// caller falls back to comparing managed thread ids.
/// </summary>
internal static unsafe partial class ThreadStack
{
    /// <summary>The calling thread's stack as <c>[low, low + bytes)</c>, or (0, 0) when unknown.</summary>
    public static (nuint Low, nuint Bytes) Current()
    {
        try
        {
            (nuint low, nuint bytes) = Query();
            byte marker = 0;
            nuint here = (nuint)(&marker);
            return here - low < bytes ? (low, bytes) : (0, 0);     // believed only when it holds this very frame
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return (0, 0);
        }
    }

    private static (nuint Low, nuint Bytes) Query()
    {
        if (OperatingSystem.IsLinux() || OperatingSystem.IsFreeBSD())
        {
            byte* attributes = stackalloc byte[256];               // pthread_attr_t is 56 or 64 bytes; room to spare
            if (PthreadGetAttr(PthreadSelf(), attributes) != 0) return (0, 0);
            void* low;
            nuint bytes;
            int status = PthreadAttrGetStack(attributes, &low, &bytes);
            PthreadAttrDestroy(attributes);
            return status == 0 ? ((nuint)low, bytes) : (0, 0);
        }
        if (OperatingSystem.IsWindows())
        {
            nuint low, high;
            GetCurrentThreadStackLimits(&low, &high);
            return (low, high - low);
        }
        if (OperatingSystem.IsMacOS())
        {
            nint self = PthreadSelf();
            nuint top = (nuint)MacStackAddress(self), bytes = MacStackSize(self);
            return (top - bytes, bytes);
        }
        return (0, 0);
    }

    [LibraryImport("libc", EntryPoint = "pthread_self")]
    private static partial nint PthreadSelf();

    [LibraryImport("libc", EntryPoint = "pthread_getattr_np")]
    private static partial int PthreadGetAttr(nint thread, void* attributes);

    [LibraryImport("libc", EntryPoint = "pthread_attr_getstack")]
    private static partial int PthreadAttrGetStack(void* attributes, void** low, nuint* bytes);

    [LibraryImport("libc", EntryPoint = "pthread_attr_destroy")]
    private static partial int PthreadAttrDestroy(void* attributes);

    [LibraryImport("libc", EntryPoint = "pthread_get_stackaddr_np")]
    private static partial void* MacStackAddress(nint thread);

    [LibraryImport("libc", EntryPoint = "pthread_get_stacksize_np")]
    private static partial nuint MacStackSize(nint thread);

    [LibraryImport("kernel32", EntryPoint = "GetCurrentThreadStackLimits")]
    private static partial void GetCurrentThreadStackLimits(nuint* low, nuint* high);
}
