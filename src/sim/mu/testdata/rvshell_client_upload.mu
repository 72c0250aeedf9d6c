require commands;
function: rvshell_fwd_1a2b3c4d_0 (void; Event event)
{
    string contact = nil;
    for_each (c; commands.remoteConnections())
        if (regex("^rvshell-k3x9q2@").match(c)) contact = c;
    if (contact neq nil)
        commands.remoteSendEvent("frame-changed", "*", string(commands.frame()), string[] {contact});
    event.reject();
}
function: rvshell_fwd_1a2b3c4d_1 (void; Event event)
{
    string contact = nil;
    for_each (c; commands.remoteConnections())
        if (regex("^rvshell-k3x9q2@").match(c)) contact = c;
    if (contact neq nil)
        commands.remoteSendEvent("range-changed", "*", string(commands.frameStart()) + " " + string(commands.frameEnd()), string[] {contact});
    event.reject();
}
commands.defineMinorMode("rvshell-events-rvshell-k3x9q2", 0, 0);
commands.bind("rvshell-events-rvshell-k3x9q2", "global", "frame-changed", rvshell_fwd_1a2b3c4d_0, "rvshell: forward frame-changed");
commands.bind("rvshell-events-rvshell-k3x9q2", "global", "range-changed", rvshell_fwd_1a2b3c4d_1, "rvshell: forward range-changed");
commands.activateMode("rvshell-events-rvshell-k3x9q2");
true;
