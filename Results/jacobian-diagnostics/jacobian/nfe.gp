# Forward solver evaluations against ρ(J) and ‖J‖_F at the fixed point, per sample.
if (!exists("fmt")) fmt = "png"
if (fmt eq "svg") { set terminal svg size 1200,540 dynamic enhanced font "sans,11" } else { set terminal pngcairo size 1200,540 enhanced font "sans,10" }
set output "nfe.".fmt
set grid
set multiplot layout 1,2 title "jacobian-diagnostics: forward cost against the Jacobian at z*"
set logscale y
set ylabel "forward f evaluations (nfe)"
set key top left font ",9"
set xlabel "ρ(J)"
plot "samples.dat" index 0 using 2:6 with points pt 7 ps 0.8 title "forward", \
     "samples.dat" index 1 using 2:6 with points pt 7 ps 0.8 title "anderson", \
     "samples.dat" index 2 using 2:6 with points pt 7 ps 0.8 title "broyden", \
     "samples.dat" index 3 using 2:6 with points pt 7 ps 0.8 title "newton-krylov"
set logscale x
set xlabel "‖J‖_F"
plot "samples.dat" index 0 using (sqrt($5)):6 with points pt 7 ps 0.8 title "forward", \
     "samples.dat" index 1 using (sqrt($5)):6 with points pt 7 ps 0.8 title "anderson", \
     "samples.dat" index 2 using (sqrt($5)):6 with points pt 7 ps 0.8 title "broyden", \
     "samples.dat" index 3 using (sqrt($5)):6 with points pt 7 ps 0.8 title "newton-krylov"
unset multiplot
